{
  "targets": [
    {
      "target_name": "uring_send",
      "sources": ["native/uring-send.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
