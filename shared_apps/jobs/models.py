from django.db import models


class JobCompletion(models.Model):
    """A job message that ran to completion (已完成的任务消息).

    Written by @tenant_actor (govplatform.jobs) in the same transaction as the job's effect, so a
    message the broker delivers again (its worker was killed before acknowledging it) does
    nothing the second time. One table in `public` for the whole province rather than one per
    tenant schema: the effect and its record still commit together (one database), no tenant
    schema grows, and pruning is one statement. Rows older than the redelivery horizon are pruned
    by the worker.
    """

    message_id = models.UUIDField(primary_key=True)
    actor_name = models.CharField(max_length=200)
    tenant_code = models.CharField(max_length=12)
    # When the run that completed it began (the record is written first and commits last).
    ran_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "job completion"

    def __str__(self):
        return f"{self.actor_name} {self.message_id}"
