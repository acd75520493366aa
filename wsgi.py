"""WSGI entry point: ``gunicorn -c python:s3api.gunicorn_conf wsgi:app``."""

from s3api import create_app

app = create_app()
