print("private customer data: alice@example.org")
