"""Channel adapters: telephony (Asterisk AMI, 1308), Telegram, WhatsApp, portal/mobile API,
and the outbound notifications back to citizens."""
