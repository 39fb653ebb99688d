"""On PostgreSQL, refuse UPDATE and DELETE on the ledger table at the database level."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION inventory_stockmovement_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'stock movements are immutable: % refused on inventory_stockmovement', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS stockmovement_immutable ON inventory_stockmovement;
CREATE TRIGGER stockmovement_immutable
    BEFORE UPDATE OR DELETE ON inventory_stockmovement
    FOR EACH ROW EXECUTE FUNCTION inventory_stockmovement_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS stockmovement_immutable ON inventory_stockmovement;
DROP FUNCTION IF EXISTS inventory_stockmovement_refuse_change();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall)]
