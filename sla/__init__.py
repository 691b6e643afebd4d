"""SLA: appeal deadlines under the АППК, extensions, reminders, escalation and overdue sweeps."""
