"""The studio (``chatbotmaker studio``): a local web page to chat with a bot, see its diagram
and edit its flow; see docs/studio.md. Nothing is imported here, so that registering the
command stays light: the app is :func:`chatbotmaker_dev.studio.app.create_app`."""
