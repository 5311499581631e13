import numpy as np
class Node:
    def process(self, n):
        a = np.cos(np.arange(n * n, dtype=np.float64).reshape(n, n) * 0.37) + np.eye(n) * n
        b = np.sin(np.arange(n, dtype=np.float64) * 1.3)
        return {"dot": float(b @ b), "matvec": (a @ b)[:3].tolist(), "matmul": (a @ a)[0, :3].tolist(),
                "norm": float(np.linalg.norm(b)), "solve": np.linalg.solve(a, b)[:3].tolist(),
                "det": float(np.linalg.det(a)), "eigvalsh": np.linalg.eigvalsh(a + a.T)[:3].tolist()}
