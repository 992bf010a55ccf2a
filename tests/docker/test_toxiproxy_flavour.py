"""The real Toxiproxy image's command line (``/toxiproxy -host=... -config=...``), exercised with
a stand-in: no Toxiproxy image can be had here, but the project's proxy takes the same flags.

The stand-in has the real image's shape: an entrypoint that is the server, no command, flags
passed as ``-host=0.0.0.0 -config=FILE``. A stack on it must come up with its declared proxy.
"""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
import redis

from chaos.stack.base import StackConfig
from chaos.stack.docker import DockerStack, ImageBuilder
from chaos.stack.docker.images import ProxyImage

pytestmark = pytest.mark.docker

STAND_IN = """\
FROM {proxy}
ENTRYPOINT ["python", "-m", "chaos.stack.docker.proxy_main", "--allow-remote"]
CMD []
"""


def test_stack_on_an_image_shaped_like_toxiproxy_comes_up_with_its_proxy(docker_images, tmp_path):
    client = ImageBuilder(progress=None).client
    tag = "celery-chaos/toxiproxy-stand-in:test"
    dockerfile = STAND_IN.format(proxy=docker_images.proxy.tag).encode()
    client.images.build(fileobj=io.BytesIO(dockerfile), tag=tag, pull=False, rm=True)
    try:
        images = replace(docker_images, proxy=ProxyImage(tag, "toxiproxy"))
        config = StackConfig(workers=0, run_dir=tmp_path, start_timeout=60)
        with DockerStack(config, images=images) as stack:
            assert stack.proxy_container.flavour == "toxiproxy"
            client_of_producer = redis.Redis.from_url(stack.producer_broker_url, socket_timeout=5)
            try:
                assert client_of_producer.ping()
                stack.proxy.disable()
                with pytest.raises(redis.ConnectionError):
                    client_of_producer.ping()
                stack.proxy.enable()
                assert client_of_producer.ping()
            finally:
                client_of_producer.close()
    finally:
        client.images.remove(tag, force=True)
