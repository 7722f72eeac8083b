"""The producer's operations, one set behind the CLI, the web dashboard and the scheduler:
cancel (`cancelling`), retry (`retrying`, with `clips` for the clip side), and re-run a stored
job or one segment of a stored clip with a new prompt or seed (`rerunning`).

Each operation decides and writes (compare-and-set, so a job or clip that moved meanwhile is
left alone) and returns what must be sent to the workers as `Sends`; the caller publishes them
with its own outbox. So no caller owns an operation's logic, and none can drift from another.
"""
