"""moto server for the test harness, with DynamoDB calls serialised.

moto's own `moto_server` serves requests on threads without isolating them, so two
concurrent TransactWriteItems can both pass a condition that real DynamoDB would let only
one pass. mcamp's guarantees (coupon stock, once per person) rest on that isolation, so
every request here runs under one lock, except SQS long polls (ReceiveMessage), which
would otherwise hold the lock while they wait.

usage: python tests/moto_serial.py HOST PORT
"""
import os
import sys
import threading

import copy

import moto.dynamodb.models as ddb
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


# moto's TransactWriteItems deep-copies every table it touches, once per write, to roll back
# on failure: quadratic in the table size. Snapshot only the items the transaction touches
# instead, and restore those if it is cancelled.
_original_transact = ddb.DynamoDBBackend.transact_write_items


class _TablesNotCopied:
    @staticmethod
    def deepcopy(x, memo=None):
        return x if isinstance(x, Table) else copy.deepcopy(x, memo)


def _touched(backend, transact_items):
    out = []
    for entry in transact_items:
        _, op = next(iter(entry.items()))
        table = backend.tables.get(op.get("TableName"))
        if table is None:
            continue
        source = op.get("Key") or op.get("Item") or {}
        h = source.get(table.hash_key_attr)
        r = source.get(table.range_key_attr) if table.range_key_attr else None
        if h is None:
            continue
        hk = DynamoType(h)
        rk = DynamoType(r) if r is not None else None
        current = table.items.get(hk, {}).get(rk) if rk is not None else table.items.get(hk)
        out.append((table, hk, rk, copy.deepcopy(current)))
    return out


def _transact_write_items(self, transact_items):
    saved = _touched(self, transact_items)
    ddb.copy = _TablesNotCopied
    try:
        return _original_transact(self, transact_items)
    except Exception:
        for table, hk, rk, item in reversed(saved):
            if rk is None:
                if item is None:
                    table.items.pop(hk, None)
                else:
                    table.items[hk] = item
            elif item is None:
                table.items[hk].pop(rk, None)
            else:
                table.items[hk][rk] = item
        raise
    finally:
        ddb.copy = copy


ddb.DynamoDBBackend.transact_write_items = _transact_write_items

host, port = sys.argv[1], int(sys.argv[2])
os.environ.setdefault("MOTO_PORT", str(port))
app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()


def serialised(environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "") == "AmazonSQS.ReceiveMessage":
        return app(environ, start_response)
    with lock:
        # Materialise the response inside the lock: the body iterator does the work.
        return list(app(environ, start_response))


run_simple(host, port, serialised, threaded=True, use_reloader=False)
