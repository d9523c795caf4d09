"""facerec: register, recognize and find people in photos and video, locally.

Faces are found by OpenCV (YuNet, or the tutorial's Haar cascade), turned
into embeddings (SFace), and stored and searched in PostgreSQL + pgvector.
"""

__version__ = "0.1.0"
