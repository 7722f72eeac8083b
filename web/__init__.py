"""``restyle web``: the batch dashboard, the crun callback receiver and ``/metrics``."""
