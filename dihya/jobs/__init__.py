"""Running jobs: the executor shared by every queue, the local and Celery queues, and the watcher
that turns job progress into status-message edits in the bot process."""
