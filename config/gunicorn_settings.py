"""gunicorn's settings: ``gunicorn -c config/gunicorn_settings.py config.wsgi`` (the Procfile's
web process, which ``make run`` starts; a deployment can use it as it is).

Environment: ``WEB_BIND`` (default ``127.0.0.1:8000``), ``WEB_CONCURRENCY`` (worker processes,
default 2) and ``WEB_THREADS`` (threads per worker, default 4), ``TRUST_PROXY`` as in the
settings. Threads keep a worker answering while one of its requests streams a long CSV export.
"""

from pathlib import Path

import environ

env = environ.Env()
environ.Env.read_env(Path(__file__).resolve().parent.parent / ".env", overwrite=False)

bind = env.str("WEB_BIND", default="127.0.0.1:8000")
workers = env.int("WEB_CONCURRENCY", default=2)
threads = env.int("WEB_THREADS", default=4)
accesslog = "-"
# No runtime control socket (by default one in the user's home, shared by every gunicorn of the
# user): nothing here uses it, and two instances would fight over it.
control_socket_disable = True

# gunicorn believes X-Forwarded-Proto from loopback peers by default and then tells Django the
# request came over https. Without a proxy (TRUST_PROXY=false) any local client could say so:
# the scheme comes from the connection only. With one, its address is FORWARDED_ALLOW_IPS
# (gunicorn's own variable, default 127.0.0.1).
if not env.bool("TRUST_PROXY", default=False):
    secure_scheme_headers: dict[str, str] = {}
