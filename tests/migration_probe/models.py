from django.db import models


class Probe(models.Model):
    name = models.CharField(max_length=50)
    touched = models.IntegerField(default=0)

    def __str__(self):
        return self.name
