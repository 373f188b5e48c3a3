"""Repositories of server objects: boards, images, videos, the workflow library, models, the
queue; one module each, so importing one (as the jobs do) does not import the others."""
