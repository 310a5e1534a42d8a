"""Audit and compliance (issue 6): anchors, exports, GDPR, retention, encrypted secrets."""
