"""WhatsApp Business Cloud API: webhook parsing and signatures, Graph API sender."""
