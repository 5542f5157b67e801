# PostgreSQL from Debian's package, with the official image's contract: POSTGRES_PASSWORD,
# POSTGRES_USER, POSTGRES_DB and PGDATA (/var/lib/postgresql/data) acting on an empty data
# directory, port 5432 for other containers with a password, the socket trusted inside, the
# client tools on the PATH, the server as the postgres user, stopped by SIGINT.
FROM berth-test/services-base:bookworm
ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ENV PGDATA=/var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]
