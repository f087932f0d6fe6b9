"""Qt-free core: labels, data sets, demo data, augmentation, models, training, metrics, prediction.

Nothing under this package may import PySide6, pyqtgraph or qasync (tests/core/test_no_qt.py checks it).
"""
