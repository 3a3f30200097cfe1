"""The one Powertools Logger and Metrics of the function.

Logs are JSON lines carrying the Lambda request id and, as `correlation_id`,
API Gateway's request id (the `request_id` every error body shows).
Metrics are CloudWatch embedded-metric lines; the local server and the tests
turn them off with POWERTOOLS_METRICS_DISABLED so they cost nothing there.
"""

import os
import resource
import sys

from aws_lambda_powertools import Logger, Metrics

from app.settings import SERVICE

# POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL and POWERTOOLS_METRICS_NAMESPACE override these.
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="ImageApi", service=SERVICE)
MEMORY_MESSAGE = "memory"  # bench/soak.py finds the lines by this message
_PAGE_MIB = os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
_MAXRSS_MIB = 1 / (1024 * 1024) if sys.platform == "darwin" else 1 / 1024  # ru_maxrss: bytes there, KiB on Linux


def publish_metrics() -> None:
    """Print this invocation's metrics, if any, and start the next invocation with none.

    Not Powertools' `log_metrics`: in 3.37 its flush keeps the metrics when
    POWERTOOLS_METRICS_DISABLED is set (they pile up for the life of the
    process, e.g. the local server) and warns on every request that adds none.
    """
    if metrics.metric_set:
        metrics.flush_metrics()
    metrics.clear_metrics()


def log_memory() -> None:
    """One line per invocation with the execution environment's memory, in MiB: resident now (`rss_mib`,
    Linux only) and its peak so far (`max_rss_mib`, what Lambda's REPORT line calls Max Memory Used).

    `make soak` reads these to see an environment's memory grow, or not, over thousands of
    requests; on AWS they are the same lines in CloudWatch Logs. A file read and a syscall: a few µs.
    """
    try:
        with open("/proc/self/statm", "rb") as statm:  # size, resident, ...: in pages
            rss: float | None = round(int(statm.read().split()[1]) * _PAGE_MIB, 1)
    except OSError:  # not Linux (a local server on macOS)
        rss = None
    peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * _MAXRSS_MIB, 1)
    logger.info(MEMORY_MESSAGE, extra={"rss_mib": rss, "max_rss_mib": peak})
