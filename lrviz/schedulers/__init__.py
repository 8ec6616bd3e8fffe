"""The scheduler families, one module each, every scheduler one record.

- :mod:`~lrviz.schedulers.base`: the record (:class:`~lrviz.schedulers.base.Scheduler`,
  its :class:`~lrviz.schedulers.base.Param` list) and the hooks every record answers:
  natural length, events, relations between parameters, pitfalls.
- :mod:`~lrviz.schedulers.torch`: torch's own schedulers (their parameters; the classes
  with their behaviour hooks in :mod:`~lrviz.schedulers.torch_records`).
- :mod:`~lrviz.schedulers.hf`: Hugging Face schedules (``hf:NAME``).
- :mod:`~lrviz.schedulers.custom`: a scheduler class of the user's own, read from its
  signature.

:mod:`lrviz.catalog` is the registry: it looks names up and exposes the families.
Adding a family is adding a module here and its table to the registry.
"""
