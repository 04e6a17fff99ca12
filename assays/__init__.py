"""Assay data: tasks, loaders for the shared data sets and user tables, and few-shot episodes."""

from assays.episodes import Episode, EpisodeSampler, episode_problem, evaluation_episodes, sample_episode
from assays.sources.assay_collection import load_assay_collection
from assays.sources.moleculeace import load_moleculeace
from assays.sources.moleculenet import FEWSHOT_DATASETS, load_fewshot_moleculenet, load_multitask_csv
from assays.sources.tables import UserTableError, load_user_table
from assays.task import InvalidRow, Task, TaskCollection, carve_validation

__all__ = [
    "Task",
    "TaskCollection",
    "InvalidRow",
    "carve_validation",
    "Episode",
    "EpisodeSampler",
    "sample_episode",
    "episode_problem",
    "evaluation_episodes",
    "FEWSHOT_DATASETS",
    "load_fewshot_moleculenet",
    "load_moleculeace",
    "load_multitask_csv",
    "load_user_table",
    "load_assay_collection",
    "UserTableError",
]
