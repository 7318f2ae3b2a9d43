"""Staff pages of the service catalogue, mounted under ``/services/`` (namespace ``catalogue``).

Split by task: the catalogue itself, the window (一窗受理), the inboxes and the
application page, appointments, and the hall statistics.
"""
