"""Use cases, each written once, under the faces (CLI, API, dashboard):

- `pipeline`: `run_pipeline_once`, the stage loop of `wom process`, `wom worker` and `wom run`'s scheduler.
- `status`: the status report of `wom status`, GET /api/v1/status and the dashboard's /status page.

The submodules are not imported here: the API process imports `monitor.service.status` alone, and
must not load the scheduler that `monitor.service.pipeline` brings along.
"""

__all__ = ["pipeline", "status"]
