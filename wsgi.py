"""The WSGI entry point: `gunicorn wsgi:app -c gunicorn.conf.py`."""

import gc

from fairdb import create_app

app = create_app()
# The ~150,000 objects of a started app live as long as the worker: moved out of the collector's
# sight, they are no longer traversed by every full collection a request triggers (an upload
# that builds many small objects ran 2x slower in its reader before this; bench/abundance.py).
gc.freeze()
