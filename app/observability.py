"""The one Powertools Logger and Metrics of the function.

Logs are JSON lines carrying the Lambda request id and, as `correlation_id`,
API Gateway's request id (the `request_id` every error body shows).
Metrics are CloudWatch embedded-metric lines; the local server and the tests
turn them off with POWERTOOLS_METRICS_DISABLED so they cost nothing there.
"""

from aws_lambda_powertools import Logger, Metrics

from app.settings import SERVICE

# POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL and POWERTOOLS_METRICS_NAMESPACE override these.
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="ImageApi", service=SERVICE)
MEMORY_MESSAGE = "memory"  # bench/soak.py finds the lines by this message
_MEMORY_FIELDS = {b"VmRSS:": "rss_mib", b"VmHWM:": "max_rss_mib"}  # lines of /proc/self/status, in kB


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
    """One line per invocation with the execution environment's memory in MiB: resident now (`rss_mib`)
    and the peak of this process (`max_rss_mib`, what Lambda's REPORT line calls Max Memory Used).

    `make soak` reads these to see whether an environment's memory grows over thousands of
    requests; on AWS they are the same lines in CloudWatch Logs. One read of a small file: tens of µs.
    The kernel's VmHWM rather than getrusage's ru_maxrss, which keeps the peak of whatever process
    forked and exec'd this one (LocalStack's, in its host mode).
    """
    memory: dict[str, float | None] = {"rss_mib": None, "max_rss_mib": None}  # None: not Linux
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                name = _MEMORY_FIELDS.get(line[:6])
                if name:  # "VmRSS:\t  69308 kB"
                    memory[name] = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    logger.info(MEMORY_MESSAGE, extra=memory)
