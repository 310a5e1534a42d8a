print("allocating 2 GB", flush=True)
block = bytearray(2 * 1024 ** 3)
print("never printed")
