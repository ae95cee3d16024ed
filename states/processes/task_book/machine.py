"""Task lists and target responsibility (任务清单、目标责任制), described for bureau staff in
``docs/processes/task_book.md``. Four machines:

- a unit's task book for the year (任务书): drafted (imported or edited) → approved by the
  superior unit → in force (its tasks issued downwards as cases of their own) → closed;
- each task (任务): issued (交办) → acknowledged and in progress (签收、办理: progress
  reports with evidence; a county's task may be split into its schools' tasks) →
  completion reported (反馈) → checked by the issuing unit (复核: accepted, or sent back
  with a reason) → closed (办结); an extension is requested and decided by the issuing unit;
- a year-end scoring round (年终考核) the issuing unit opens: scoring → closed (totals and
  ranking computed, the sealed scores unsealed to the round's record) → published;
- each scorer's sheet (评分表) in a round: open until the scorer submits it or the round
  closes.
"""

from __future__ import annotations

from statemachine import State, StateMachine

BOOK = "task_book"
TASK = "work_task"
ROUND = "task_scoring"
SHEET = "task_score_sheet"


class BookMachine(StateMachine):
    book_draft = State("编制中", initial=True)
    book_review = State("上级审批")
    book_in_force = State("已下达执行")
    book_closed = State("已办结", final=True)

    submit_book = book_draft.to(book_review)
    approve_book = book_review.to(book_in_force)
    return_book = book_review.to(book_draft)
    close_book = book_in_force.to(book_closed)


class TaskMachine(StateMachine):
    task_issued = State("交办待签收", initial=True)
    task_doing = State("办理中")
    task_extension = State("延期审批")
    task_review = State("完成复核")
    task_done = State("已办结", final=True)

    acknowledge_task = task_issued.to(task_doing)
    report_progress = task_doing.to.itself(internal=True)  # type: ignore[no-untyped-call]
    split_task = task_doing.to.itself(internal=True)  # type: ignore[no-untyped-call]
    request_extension = task_doing.to(task_extension)
    approve_extension = task_extension.to(task_doing)
    refuse_extension = task_extension.to(task_doing)
    report_completion = task_doing.to(task_review)
    accept_completion = task_review.to(task_done)
    return_completion = task_review.to(task_doing)


class RoundMachine(StateMachine):
    round_scoring = State("评分中", initial=True)
    round_scored = State("评分结束待公布")
    round_published = State("结果已公布", final=True)

    close_scoring = round_scoring.to(round_scored)
    publish_scores = round_scored.to(round_published)


class SheetMachine(StateMachine):
    sheet_open = State("待评分", initial=True)
    sheet_done = State("已评分", final=True)
    sheet_missed = State("逾期未评分", final=True)

    submit_scores = sheet_open.to(sheet_done)
    miss_sheet = sheet_open.to(sheet_missed)
