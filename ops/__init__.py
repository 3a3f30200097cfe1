"""Operating a deployed store: `python -m ops.maintenance reconcile|pending` (`make reconcile`, `make pending`)."""
