"""CI/CD pipelines (issue 15): providers behind one port, the job runner that follows a run, the
inbound webhooks, deploy-gate records and Grafana annotations."""
