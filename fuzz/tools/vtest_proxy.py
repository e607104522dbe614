#!/usr/bin/env python3
"""Records what real vtest clients send, for fuzz seeds.

    vtest_proxy.py LISTEN_SOCKET SERVER_SOCKET OUT_DIR

Listens on LISTEN_SOCKET; for every client it connects to SERVER_SOCKET and
forwards both ways (the server's SCM_RIGHTS fds included, so Mesa's Venus
driver works through it). Everything a client sends is appended to
OUT_DIR/conn-N.vtest (the raw client->server byte stream: vtest headers,
payloads, SUBMIT_CMD2 batches). Runs until killed.
"""
import os
import socket
import sys
import threading


def forward_client(src, dst, log):
    while True:
        data = src.recv(65536)
        if not data:
            break
        log.write(data)
        dst.sendall(data)
    log.close()
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def forward_server(src, dst):
    while True:
        try:
            data, fds, _flags, _addr = socket.recv_fds(src, 65536, 4)
        except OSError:
            break
        if not data:
            break
        if fds:
            # The fd rides on the last byte (the server's 1-byte sendmsg,
            # after which the kernel ends the read); the client reads the
            # bytes before it with plain reads, so they must go separately.
            if len(data) > 1:
                dst.sendall(data[:-1])
            socket.send_fds(dst, [data[-1:]], fds)
            for fd in fds:
                os.close(fd)
        else:
            dst.sendall(data)
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def main():
    listen_path, server_path, out_dir = sys.argv[1:4]
    os.makedirs(out_dir, exist_ok=True)
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(listen_path):
        os.unlink(listen_path)
    lsock.bind(listen_path)
    lsock.listen(16)
    n = 0
    while True:
        client, _ = lsock.accept()
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.connect(server_path)
        log = open(os.path.join(out_dir, "conn-%d.vtest" % n), "wb")
        n += 1
        threading.Thread(target=forward_client, args=(client, server, log), daemon=True).start()
        threading.Thread(target=forward_server, args=(server, client), daemon=True).start()


if __name__ == "__main__":
    main()
