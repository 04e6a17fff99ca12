"""The learner registry: ``@LEARNERS.register()`` on each learner class; names feed the CLI choices.

Each registered class declares what it serves as class attributes (see
:class:`~sciml.learners.base.FewShotLearner`): ``description``, ``tasks``,
``needs_checkpoint`` (meta-learners) and ``serves_other_task`` (whether a checkpoint
meta-trained for one task kind can serve the other).
"""

from __future__ import annotations

from sciml.registry import ClassRegistry

__all__ = ["LEARNERS", "make_learner", "meta_learner_names"]

#: name -> learner class (filled when :mod:`sciml.learners` is imported).
LEARNERS: ClassRegistry = ClassRegistry("learner")


def meta_learner_names() -> tuple[str, ...]:
    """Registered learners that are meta-trained (built from a checkpoint)."""
    return tuple(k for k, cls in LEARNERS.items() if cls.needs_checkpoint)


def make_learner(name: str, checkpoint=None, device: str | None = None, task: str = "classification", **kwargs):
    """Instantiate learner ``name``.

    Meta-learners are loaded from ``checkpoint`` (a folder). Their task is the one they
    were meta-trained for unless the class ``serves_other_task``, in which case ``task``
    is passed on. Baselines are built for ``task``. ``kwargs`` go to the learner's constructor.
    """
    cls = LEARNERS[name]
    if task not in cls.tasks:
        raise ValueError(f"learner {name!r} does not do {task}; it does {', '.join(cls.tasks)}")
    if not cls.needs_checkpoint:
        return cls(task=task, **kwargs)
    if checkpoint is None:
        raise ValueError(f"learner {name!r} needs a checkpoint folder")
    if cls.serves_other_task:
        kwargs.setdefault("task", task)
    learner = cls.from_checkpoint(checkpoint, device=device, **kwargs)
    if learner.task != task:
        from sciml.checkpoint import CheckpointError

        raise CheckpointError(f"{checkpoint}: its {name} model was meta-trained for {learner.task}, not {task}.")
    return learner
