"""chatbotmaker's Facebook Messenger plugin."""
