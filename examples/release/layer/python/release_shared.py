"""Shared code of the release example, published as a layer and found at /opt/python."""


def greeting(message):
    return "release says " + message
