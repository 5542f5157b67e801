# Redis from Debian's package, with the official image's contract: `redis-server [config]
# [--options]`, data in /data (the working directory), port 6379, the server as the redis user,
# redis-cli on the PATH.
FROM berth-test/services-base:bookworm
COPY redis-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN mkdir -p /data /usr/local/etc/redis
VOLUME /data
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["redis-server"]
