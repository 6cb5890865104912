"""Example bots that ship with botkit."""
