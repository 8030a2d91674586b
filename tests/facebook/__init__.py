"""Tests of chatbotmaker_facebook against a loopback Graph API (``tests.support.fake_graph``)."""
