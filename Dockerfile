# One image for every role; the command picks it:
#   docker run IMAGE serve | worker | migrate | dev
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY hookgate ./hookgate
COPY core ./core
COPY gateway ./gateway
COPY verifiers ./verifiers
COPY storage ./storage
COPY relay ./relay
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOOKGATE_CONFIG=/etc/hookgate/config.yaml
RUN useradd --system --uid 10001 --home-dir /var/lib/hookgate --create-home hookgate
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY config.yaml /etc/hookgate/config.yaml
USER hookgate
WORKDIR /var/lib/hookgate
EXPOSE 8080
ENTRYPOINT ["hookgate"]
CMD ["serve"]
