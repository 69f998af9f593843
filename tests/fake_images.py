"""Images for tests where the content does not matter."""
import torch


def random_images(n: int, size: int = 28, nc: int = 1, seed: int = 0) -> torch.Tensor:
    """uint8 (n, nc, size, size) noise images standing in for data where content does not matter."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, nc, size, size), dtype=torch.uint8, generator=gen)
