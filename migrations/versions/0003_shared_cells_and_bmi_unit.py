"""shared cells per upload, BMI unit, cached sample ids

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 21:30:00

Loading speed: cells most rows of an upload share are stored once (uploads.shared_cells), the
BMI unit gets a typed column so typical BMI cells are rebuilt instead of kept as text, and the
samples id sequence hands out ids 1000 at a time (one sequence call per 1000 rows on COPY).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'uploads',
        sa.Column(
            'shared_cells',
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column('samples', sa.Column('host_body_mass_index_unit', sa.Text(), nullable=True))
    op.execute("ALTER SEQUENCE samples_id_seq CACHE 1000")


def downgrade():
    op.execute("ALTER SEQUENCE samples_id_seq CACHE 1")
    op.drop_column('samples', 'host_body_mass_index_unit')
    op.drop_column('uploads', 'shared_cells')
