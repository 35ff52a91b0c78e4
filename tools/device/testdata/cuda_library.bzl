CUDA_ARCHS = ["80", "90"]
