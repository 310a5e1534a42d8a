"""Runners do the work of a job: Ansible playbooks, Docker containers, Kubernetes deployments."""
