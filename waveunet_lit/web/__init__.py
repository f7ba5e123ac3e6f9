"""The web app (extra ``[web]``): sign in, upload a song, watch it separate, play and mix the
stems, download them, and find earlier separations again.

A Django project and app in one package: ``settings``, ``urls``, ``models`` (jobs and mixes),
``views``, ``tasks`` (run by ``django-tasks``' database worker), ``uploads`` (checks before a job
exists), ``catalog`` (the checkpoints offered), ``files`` (each job's private folder) and
``launcher`` (``waveunet web`` and ``waveunet web-worker``). Separation is the library's
:func:`waveunet_lit.separate.separate`; nothing here re-implements it.
"""
