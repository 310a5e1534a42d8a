"""PromQL templates keyed by a server's instance label: the defaults, and filling one in safely.

Kept apart from the Prometheus client so configuration can be checked without loading it."""

from __future__ import annotations

import json
from collections.abc import Mapping

PLACEHOLDER = '"{instance}"'

# Status templates for node-exporter targets; configuration may replace them.
NODE_STATUS_TEMPLATES: Mapping[str, str] = {
    "up": 'max(up{instance="{instance}"})',
    "cpu": '100 * (1 - avg(rate(node_cpu_seconds_total{instance="{instance}",mode="idle"}[1m])))',
    "memory": '100 * (1 - sum(node_memory_MemAvailable_bytes{instance="{instance}"})'
              ' / sum(node_memory_MemTotal_bytes{instance="{instance}"}))',
    "disk": '100 * max(1 - node_filesystem_avail_bytes{instance="{instance}",fstype!~"tmpfs|ramfs|overlay"}'
            ' / node_filesystem_size_bytes{instance="{instance}",fstype!~"tmpfs|ramfs|overlay"})',
    "load": 'max(node_load1{instance="{instance}"})',
}


def fill_template(template: str, instance: str) -> str:
    """Put ``instance`` into a template's ``"{instance}"`` slots as an escaped PromQL string.

    JSON string escapes (\\", \\\\, \\uXXXX) are valid PromQL escapes, so any label value is safe.
    """
    bare = template.replace(PLACEHOLDER, "")
    if "{instance}" in bare or PLACEHOLDER not in template:
        raise ValueError(f'status template must use the placeholder inside double quotes as {PLACEHOLDER}: {template}')
    return template.replace(PLACEHOLDER, json.dumps(instance, ensure_ascii=False))
