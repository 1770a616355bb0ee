"""Custom Lava processes of the runtime. Lava's compiler imports every ``.py`` file in this folder
while it looks for process models, so the folder holds processes and their models only:
no code with side effects at import time."""
