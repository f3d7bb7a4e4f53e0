"""Task sets: the questions every stage asks, checks and reports, declared once.

    from chatforge.tasks import SETS, build_cases
    SETS["letters_python"].target          # 0.95
    build_cases(world, 200, seed)          # {set name: test cases}, the evaluation suite's items
"""

from chatforge.tasks.registry import SETS, build_cases, check_names, guards, practised
from chatforge.tasks.taskset import Demos, Draw, TaskSet

__all__ = ["SETS", "Demos", "Draw", "TaskSet", "build_cases", "check_names", "guards", "practised"]
