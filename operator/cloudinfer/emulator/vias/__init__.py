"""Huawei VIAS (Video Intelligent Analysis Service): each account's algorithms and the one
service record each algorithm has in a project (deploy, stop, show, list)."""
