"""Benchmarks for s3api: ``python -m bench`` (``make bench``). See bench/README.md.

The harness starts ``s3api serve`` subprocesses on 127.0.0.1 against one moto server, measures the API side by
side with the same AWS calls made directly, and writes ``bench/results.md`` and ``bench/results.json``.
"""
