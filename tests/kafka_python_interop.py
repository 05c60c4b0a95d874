#!/usr/bin/env python3
"""Interop with a Kafka client that is not librdkafka: kafka-python (Debian `python3-kafka`,
a pure-Python implementation of the wire protocol with its own murmur2 partitioner).

Usage: tests/kafka_python_interop.py path/to/couponflow

On the embedded broker (6 partitions) with a catalog of 8 coupons of capacity 5 and one
`couponflow process`, kafka-python:
- produces 80 contract requests (10 per coupon, distinct users) keyed by coupon id with its
  DEFAULT partitioner: a producer that follows the contract without configuring anything;
- subscribes a consumer group to coupon-issued and coupon-rejected and reads the answers.
It checks that each request was placed where couponflow expects (no MISROUTED dead letter,
nothing in the DLQ at all), that every request is answered exactly once in the partition
it was sent to, 5 ACCEPTED with issueNo 1..5 and 5 SOLD_OUT per coupon, that the
consumer group's offsets were committed, and that `couponflow verify` passes.

Every process started is stopped by PID in a finally block; the run is bounded (~90 s).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
from processes import Checks, Procs, TestFailure, log  # noqa: E402

from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402

PARTITIONS = 6
COUPONS = [f"interop-{i}" for i in range(8)]
CAPACITY = 5
PER_COUPON = 10
GROUP = "interop-subscribers"


check = Checks(180).check  # ctest's timeout for this test


def main():
    if len(sys.argv) != 2:
        print("usage: kafka_python_interop.py path/to/couponflow", file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="couponflow-interop-")
    procs = Procs(work)
    try:
        scenario(binary, work, procs)
        log("kafka-python interop: PASS")
        return 0
    except (TestFailure, AssertionError) as e:
        log(f"FAIL  {e}")
        for name, _ in procs.procs:
            log(procs.tail(name))
        return 1
    finally:
        procs.stop_all()
        shutil.rmtree(work, ignore_errors=True)


def scenario(binary, work, procs):
    boot = os.path.join(work, "bootstrap")
    procs.start("broker", [binary, "broker", "--partitions", str(PARTITIONS), "--bootstrap-file", boot])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not (os.path.exists(boot) and os.path.getsize(boot) > 0):
        time.sleep(0.1)
    check(os.path.exists(boot) and os.path.getsize(boot) > 0, "the embedded broker wrote its bootstrap file")
    bootstrap = open(boot).read().strip()
    for coupon in COUPONS:
        r = subprocess.run([binary, "catalog", "put", "--bootstrap", bootstrap, "--coupon", coupon, "--capacity",
                            str(CAPACITY)], capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, f"catalog put {coupon}", r.stderr.strip())
    procs.start("processor", [binary, "process", "--bootstrap", bootstrap, "--state-dir", os.path.join(work, "state"),
                              "--instance-id", "interop", "--metrics-listen", "127.0.0.1:0"])

    # ------------------------------------------------------------ requests from kafka-python
    producer = KafkaProducer(bootstrap_servers=bootstrap.split(","), acks="all",
                             key_serializer=str.encode, value_serializer=lambda v: json.dumps(v).encode())
    sent = {}  # requestId -> (coupon, partition the default partitioner chose)
    futures = []
    for c, coupon in enumerate(COUPONS):
        for i in range(PER_COUPON):
            request_id = f"py-{c}-{i}"
            value = {"requestId": request_id, "couponId": coupon, "userId": f"py-user-{c}-{i}",
                     "requestedAt": int(time.time() * 1000)}
            futures.append((request_id, coupon, producer.send("coupon-issuance", key=coupon, value=value)))
    for request_id, coupon, future in futures:
        metadata = future.get(timeout=30)
        sent[request_id] = (coupon, metadata.partition)
    producer.flush()
    producer.close()
    check(len(sent) == len(COUPONS) * PER_COUPON, f"kafka-python sent {len(sent)} keyed requests")
    spread = {p for _, p in sent.values()}
    check(len(spread) > 1, f"its default partitioner spread them over {len(spread)} partitions")

    # ------------------------------------------------------------ answers to a kafka-python group
    consumer = KafkaConsumer("coupon-issued", "coupon-rejected", bootstrap_servers=bootstrap.split(","),
                             group_id=GROUP, auto_offset_reset="earliest", enable_auto_commit=False,
                             consumer_timeout_ms=1000)
    results = []
    deadline = time.monotonic() + 60
    while len(results) < len(sent) and time.monotonic() < deadline:
        if not procs.alive("processor"):
            raise TestFailure("the processor exited")
        for message in consumer:
            results.append((message.topic, message.partition, message.key.decode(), json.loads(message.value)))
    check(len(results) == len(sent), f"the group received {len(results)} answers for {len(sent)} requests")
    consumer.commit()
    committed = sum((consumer.committed(TopicPartition(t, p)) or 0)
                    for t in ("coupon-issued", "coupon-rejected") for p in range(PARTITIONS))
    consumer.close()
    check(committed == len(results), f"the group committed its offsets ({committed})")

    by_request, problems = {}, []
    for topic, partition, key, value in results:
        request_id = value["requestId"]
        coupon, request_partition = sent[request_id]
        expected_topic = "coupon-issued" if value["status"] == "ACCEPTED" else "coupon-rejected"
        if request_id in by_request:
            problems.append(f"{request_id} answered twice")
        if key != coupon or value["couponId"] != coupon:
            problems.append(f"{request_id} answered under key {key} for {value['couponId']}, not {coupon}")
        if not partition == request_partition == value["partition"]:
            problems.append(f"{request_id} sent to partition {request_partition}, answered in {partition} "
                            f"(result says {value['partition']})")
        if topic != expected_topic:
            problems.append(f"{request_id}: {value['status']} on {topic}")
        by_request[request_id] = value
    check(not problems, "each request answered once, under its coupon, in the partition kafka-python chose, "
          "on the topic of its status", "; ".join(problems[:5]))
    for coupon in COUPONS:
        answers = [v for v in by_request.values() if v["couponId"] == coupon]
        issued = sorted(v["issueNo"] for v in answers if v["status"] == "ACCEPTED")
        sold_out = [v for v in answers if v.get("reason") == "SOLD_OUT"]
        check(issued == list(range(1, CAPACITY + 1)) and len(sold_out) == PER_COUPON - CAPACITY,
              f"{coupon}: issueNo 1..{CAPACITY} and {len(sold_out)} SOLD_OUT", f"{issued} / {len(sold_out)}")

    # ------------------------------------------------------------ nothing misplaced, verify agrees
    dlq = KafkaConsumer(bootstrap_servers=bootstrap.split(","), enable_auto_commit=False, consumer_timeout_ms=500)
    parts = [TopicPartition("coupon-issuance-dlq", p) for p in range(PARTITIONS)]
    dlq.assign(parts)
    ends = dlq.end_offsets(parts)
    dlq.close()
    check(sum(ends.values()) == 0, "no dead letter: kafka-python placed every request where couponflow expects",
          ends)
    r = subprocess.run([binary, "verify", "--bootstrap", bootstrap, "--output", "json"], capture_output=True,
                       text=True, timeout=60)
    report = json.loads(r.stdout) if r.stdout.strip() else {}
    check(r.returncode == 0 and report.get("verdict") == "pass" and report.get("requests") == len(sent),
          "couponflow verify passes", r.stdout.strip()[:400] + r.stderr.strip()[-200:])
    check(procs.stop("processor") == 0, "the processor exits 0 on SIGTERM")


if __name__ == "__main__":
    sys.exit(main())
